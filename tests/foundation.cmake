# End-to-end tests of the foundation binaries.
add_test(NAME e2e.serve_lifecycle
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/serve_test.sh $<TARGET_FILE:tandemd>)
add_test(NAME e2e.phone_cli
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/phone_cli_test.sh $<TARGET_FILE:tandem>)
add_test(NAME e2e.hostile_input
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/hostile_input_test.sh $<TARGET_FILE:tandemd>)
# Unknown keys, tandemd config, SIGHUP, and docs/configuration.md against
# `tandemd config --markdown`.
add_test(NAME e2e.config
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/config_test.sh $<TARGET_FILE:tandemd>
                 ${PROJECT_SOURCE_DIR}/docs/configuration.md)
