# End-to-end tests of the social operator: the real tandemd and tandem
# binaries, with social_feed_peer standing in for the messenger's feed.
add_test(NAME e2e.social_cli
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/social_cli_test.sh
                 $<TARGET_FILE:tandemd> $<TARGET_FILE:tandem> $<TARGET_FILE:social_feed_peer>)
add_test(NAME e2e.social_feed_crash
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/social_feed_crash_test.sh
                 $<TARGET_FILE:tandemd> $<TARGET_FILE:social_feed_peer>)
set_tests_properties(e2e.social_cli e2e.social_feed_crash PROPERTIES TIMEOUT 300)
