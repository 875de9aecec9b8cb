# The demo world of `tandemd serve --demo`, through the real binaries.
add_test(NAME e2e.demo
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/demo_e2e_test.sh $<TARGET_FILE:tandemd> $<TARGET_FILE:tandem>)
set_tests_properties(e2e.demo PROPERTIES TIMEOUT 300)
