# Fuzz targets for the Signal Protocol library: both message types, v3 and
# v4 (parsing and decryption against live sessions), session records, KEM
# keys and ciphertexts, and sender keys.
tandem_fuzz(crypto_signal_message_fuzz
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/crypto_signal_message_fuzz.cc
  LIBS tandem_crypto tandem_common)
tandem_fuzz(crypto_session_record_fuzz
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/crypto_session_record_fuzz.cc
  LIBS tandem_crypto tandem_common)
tandem_fuzz(crypto_kem_fuzz
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/crypto_kem_fuzz.cc
  LIBS tandem_crypto tandem_common)
tandem_fuzz(crypto_sender_key_fuzz
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/crypto_sender_key_fuzz.cc
  LIBS tandem_crypto tandem_common)
foreach(target crypto_signal_message_fuzz crypto_session_record_fuzz)
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
endforeach()
tandem_fuzz(crypto_attachment_fuzz
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/crypto_attachment_fuzz.cc
  LIBS tandem_crypto tandem_common)
