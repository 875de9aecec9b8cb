# Fuzz target for the relay's WebSocket frame parsing.
tandem_fuzz(relay_frame_fuzz SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/relay_frame_fuzz.cc LIBS tandem_relay_protocol)
