# Parsers of untrusted input on the social side: uploaded address books and
# contact files (from users), feed pages (from the messenger operator).
tandem_fuzz(fuzz_social_address_book SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_social_address_book.cc LIBS tandem_social)
tandem_fuzz(fuzz_social_feed_page SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_social_feed_page.cc LIBS tandem_social nlohmann_json::nlohmann_json)
