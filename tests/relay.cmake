# End-to-end tests of the messenger relay against the real tandemd binary.
add_executable(relay_e2e_test ${CMAKE_CURRENT_SOURCE_DIR}/relay_e2e_test.cc)
target_include_directories(relay_e2e_test PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(relay_e2e_test PRIVATE tandem_relay_protocol tandem_net tandem_crypto tandem_common
                      nlohmann_json::nlohmann_json absl::strings GTest::gtest GTest::gtest_main)
add_dependencies(relay_e2e_test tandemd)
tandem_test_build_options(relay_e2e_test)
gtest_discover_tests(relay_e2e_test TEST_PREFIX "e2e.relay."
                     PROPERTIES ENVIRONMENT "TANDEMD=$<TARGET_FILE:tandemd>" TIMEOUT 300 LABELS "relay;e2e")
