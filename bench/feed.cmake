# Objection-to-enforcement latency through tandemd (standalone):
# bench/objection_latency --tandemd <path>.
add_executable(objection_latency ${CMAKE_CURRENT_LIST_DIR}/objection_latency.cc)
target_include_directories(objection_latency PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(objection_latency PRIVATE tandem_relay_protocol tandem_net tandem_crypto tandem_common
                      nlohmann_json::nlohmann_json absl::strings)
add_dependencies(objection_latency tandemd)
# A few changes in both modes: exits non-zero if one is not enforced or
# tandemd logs a feed error.
add_test(NAME bench.objection_latency_smoke
         COMMAND objection_latency --tandemd $<TARGET_FILE:tandemd> --changes 6 --pause-ms 20)
set_tests_properties(bench.objection_latency_smoke PROPERTIES TIMEOUT 120)
