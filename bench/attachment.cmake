# Attachment throughput through a running relay (bench/attachment_bench.sh
# starts one and runs it beside dd and a plain HTTP copy).
add_executable(attachment_bench ${CMAKE_CURRENT_SOURCE_DIR}/attachment_bench.cc)
target_link_libraries(attachment_bench PRIVATE tandem_client tandem_relay_protocol tandem_net tandem_crypto
                      tandem_common nlohmann_json::nlohmann_json absl::strings)
