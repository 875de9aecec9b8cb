# Parsers of untrusted input on the ads side: customer-list upload bodies.
tandem_fuzz(fuzz_ads_upload SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_ads_upload.cc LIBS tandem_ads nlohmann_json::nlohmann_json)
