# Customer-list matching: index memory per user, pre-hashed and raw rows per
# second per core, and the whole service path.
add_executable(ads_bench ${CMAKE_CURRENT_LIST_DIR}/ads_bench.cc)
target_link_libraries(ads_bench PRIVATE tandem_ads)
