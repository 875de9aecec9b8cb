# The data-sharing agreement end to end in the embedded default: the
# messenger's feed consumed by the social network inside one tandemd.
add_test(NAME e2e.data_sharing
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/data_sharing_test.sh $<TARGET_FILE:tandemd> $<TARGET_FILE:tandem>)
set_tests_properties(e2e.data_sharing PROPERTIES TIMEOUT 300)
