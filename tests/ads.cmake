# End-to-end test of the ads platform: tandemd, the tandem CLI (advertiser
# and social user) and social_feed_peer as the messenger's feed.
add_test(NAME e2e.ads
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/ads_e2e_test.sh
                 $<TARGET_FILE:tandemd> $<TARGET_FILE:tandem> $<TARGET_FILE:social_feed_peer>)
set_tests_properties(e2e.ads PROPERTIES TIMEOUT 300)
# The same through the real messenger (embedded default: the social side
# consumes tandemd's own feed; the objection is `tandem privacy object ads`).
add_test(NAME e2e.ads_messenger
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/ads_messenger_e2e_test.sh $<TARGET_FILE:tandemd> $<TARGET_FILE:tandem>)
set_tests_properties(e2e.ads_messenger PROPERTIES TIMEOUT 300)
