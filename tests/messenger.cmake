# The messenger through the real binaries: tandemd and several tandem clients.
add_test(NAME e2e.messenger_cli
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/messenger_cli_test.sh $<TARGET_FILE:tandemd> $<TARGET_FILE:tandem>)
set_tests_properties(e2e.messenger_cli PROPERTIES TIMEOUT 600)

# What a newcomer meets on the command line: hints, one server setting,
# receipts as shown, a number registered again elsewhere.
add_test(NAME e2e.cli_door
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/cli_door_test.sh $<TARGET_FILE:tandemd> $<TARGET_FILE:tandem>)
set_tests_properties(e2e.cli_door PROPERTIES TIMEOUT 600)

# Groups through the real binaries: five profiles, adds, a rename, a
# removal, bad input, a kill -9 during group sends, no plaintext stored.
add_test(NAME e2e.group_cli
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/group_cli_test.sh $<TARGET_FILE:tandemd> $<TARGET_FILE:tandem>)
set_tests_properties(e2e.group_cli PROPERTIES TIMEOUT 600)

# Linked devices through the real binaries: link, sync copies both ways,
# list, removal, bad and expired codes.
add_test(NAME e2e.device_cli
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/device_cli_test.sh $<TARGET_FILE:tandemd> $<TARGET_FILE:tandem>)
set_tests_properties(e2e.device_cli PROPERTIES TIMEOUT 600)
