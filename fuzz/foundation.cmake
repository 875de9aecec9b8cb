# Parsers of untrusted input in the foundation libraries.
tandem_fuzz(fuzz_csv_line SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_csv_line.cc LIBS tandem_common)
tandem_fuzz(fuzz_phone_parse SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_phone_parse.cc LIBS tandem_phone)
tandem_fuzz(fuzz_config SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_config.cc LIBS tandem_common)
tandem_fuzz(fuzz_http_request SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_http_request.cc LIBS tandem_net)
