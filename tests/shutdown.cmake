# Clean stop on SIGTERM after real traffic (messages, receipts, the feed,
# an ads upload), 20 times on the same data directory.
add_test(NAME e2e.shutdown
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/shutdown_test.sh $<TARGET_FILE:tandemd> $<TARGET_FILE:tandem> 20)
set_tests_properties(e2e.shutdown PROPERTIES TIMEOUT 600 LABELS "relay;e2e")
