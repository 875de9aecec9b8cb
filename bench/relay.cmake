# Relay load generator (standalone): bench/relay_load --tandemd <path>.
add_executable(relay_load ${CMAKE_CURRENT_SOURCE_DIR}/relay_load.cc ${CMAKE_CURRENT_SOURCE_DIR}/ws_loop.cc)
target_include_directories(relay_load PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(relay_load PRIVATE tandem_relay_protocol tandem_net tandem_crypto tandem_phone tandem_common
                      nlohmann_json::nlohmann_json absl::strings OpenSSL::Crypto)
add_dependencies(relay_load tandemd)
# A short run of every phase: the load generator exits non-zero on an error
# frame or an envelope that was not delivered.
add_test(NAME bench.relay_load_smoke
         COMMAND relay_load --tandemd $<TARGET_FILE:tandemd> --clients 4 --idle 20 --seconds 1
                 --throughput-seconds 1 --rate 400)
set_tests_properties(bench.relay_load_smoke PROPERTIES TIMEOUT 120)
