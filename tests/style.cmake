# Tools that police style: the clang-format layout of every C++ file, and
# clang-tidy's checks (.clang-tidy) on the sources, with a cache so that
# unchanged files are not checked again (tests/tidy_check.py). Neither runs
# in the sanitizer build: they read sources, not binaries.
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME style.format
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/format_check.py ${PROJECT_SOURCE_DIR})
set_tests_properties(style.format PROPERTIES TIMEOUT 120 LABELS "style;no-sanitizer")
add_test(NAME style.tidy
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/tidy_check.py ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
set_tests_properties(style.tidy PROPERTIES TIMEOUT 3600 LABELS "style;no-sanitizer")
# Real time and randomness are chosen in app/ only (tests/real_time_allowed.txt
# lists the exceptions with their reasons).
add_test(NAME real_time
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/real_time_test.py ${PROJECT_SOURCE_DIR})
set_tests_properties(real_time PROPERTIES TIMEOUT 60 LABELS "style")
