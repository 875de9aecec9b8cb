# The social operator: suggestion throughput and latency on a large synthetic
# graph, feed application rate, objection-to-enforcement latency.
add_executable(social_bench ${CMAKE_CURRENT_LIST_DIR}/social_bench.cc)
target_link_libraries(social_bench PRIVATE tandem_social tandem_testing Threads::Threads)
