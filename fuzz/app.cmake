# The whole HTTP surface of tandemd: every route of every component.
tandem_fuzz(fuzz_router SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_router.cc
            LIBS tandem_relay tandem_crypto tandem_social tandem_ads nlohmann_json::nlohmann_json)
