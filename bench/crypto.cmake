# Signal Protocol benchmarks: session setups, alternating conversations (a DH
# ratchet step per message) and one-way bursts of 100-byte messages, beside
# the raw X25519 rate. The same scenarios against the npm peer:
#   bash tests/interop/install_peer.sh && node bench/interop_peer_bench.cjs
add_executable(crypto_bench ${CMAKE_CURRENT_SOURCE_DIR}/crypto_bench.cc)
target_link_libraries(crypto_bench PRIVATE tandem_crypto tandem_common PkgConfig::SODIUM benchmark::benchmark)
