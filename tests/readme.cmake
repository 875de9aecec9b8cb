# The README, run as written: every sh block in order on a fresh ./data
# (tests/readme_test.py). It uses the README's fixed port 8080, so it runs
# alone (RUN_SERIAL).
add_test(NAME e2e.readme
         COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/readme_test.py ${PROJECT_SOURCE_DIR}/README.md
                 ${CMAKE_BINARY_DIR} ${PROJECT_SOURCE_DIR})
set_tests_properties(e2e.readme PROPERTIES TIMEOUT 900 RUN_SERIAL TRUE)
