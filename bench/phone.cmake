add_executable(phone_bench ${CMAKE_CURRENT_LIST_DIR}/phone_bench.cc)
target_link_libraries(phone_bench PRIVATE tandem_phone tandem_common benchmark::benchmark)
