# Relay load generator (standalone): bench/relay_load --tandemd <path>.
add_executable(relay_load ${CMAKE_CURRENT_SOURCE_DIR}/relay_load.cc)
target_include_directories(relay_load PRIVATE ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(relay_load PRIVATE tandem_relay_protocol tandem_net tandem_crypto tandem_phone tandem_common
                      nlohmann_json::nlohmann_json absl::strings)
add_dependencies(relay_load tandemd)
