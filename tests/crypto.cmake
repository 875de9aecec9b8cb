# Signal Protocol interop test against an independent implementation, the
# npm package @privacyresearch/libsignal-protocol-typescript (Node peer in
# tests/interop/). The test installs the peer's npm dependencies itself.
add_executable(crypto_interop_test ${CMAKE_CURRENT_SOURCE_DIR}/interop/interop_test.cc)
target_link_libraries(crypto_interop_test PRIVATE tandem_crypto tandem_common absl::strings
                      nlohmann_json::nlohmann_json)
add_test(NAME crypto_interop
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/interop/run_interop.sh $<TARGET_FILE:crypto_interop_test>)
set_tests_properties(crypto_interop PROPERTIES TIMEOUT 900 LABELS "crypto;interop")

# The same driver against libsignal itself (@signalapp/libsignal-client,
# tests/libsignal/): version 4 sessions with PQXDH, the post-quantum ratchet
# and sender keys. The test installs the binding itself.
add_test(NAME crypto_libsignal_interop
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/libsignal/run_interop.sh $<TARGET_FILE:crypto_interop_test>)
set_tests_properties(crypto_libsignal_interop PROPERTIES TIMEOUT 900 LABELS "crypto;interop")
