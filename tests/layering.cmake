# The component boundary of docs/architecture.md, checked against the
# sources: includes, CMake links and the tables each component's SQL names
# (tests/layering_test.py; allowed exceptions in tests/layering_exceptions.txt).
find_package(Python3 REQUIRED COMPONENTS Interpreter)
add_test(NAME layering
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/layering_test.py ${PROJECT_SOURCE_DIR})
set_tests_properties(layering PROPERTIES TIMEOUT 60 LABELS "layering")
# The checker itself: each kind of violation, planted in a copy of the tree,
# must fail it.
add_test(NAME layering.selftest
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/layering_selftest.py ${PROJECT_SOURCE_DIR})
set_tests_properties(layering.selftest PROPERTIES TIMEOUT 120 LABELS "layering")
