# Fuzz targets for the Signal Protocol library: both v3 message types
# (parsing and decryption against live sessions), session records, and KEM
# keys and ciphertexts.
tandem_fuzz(crypto_signal_message_fuzz
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/crypto_signal_message_fuzz.cc
  LIBS tandem_crypto tandem_common)
tandem_fuzz(crypto_session_record_fuzz
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/crypto_session_record_fuzz.cc
  LIBS tandem_crypto tandem_common)
tandem_fuzz(crypto_kem_fuzz
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/crypto_kem_fuzz.cc
  LIBS tandem_crypto tandem_common)
foreach(target crypto_signal_message_fuzz crypto_session_record_fuzz)
  target_include_directories(${target} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
endforeach()
