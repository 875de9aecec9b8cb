// The translation unit that builds the shared precompiled headers (see the
// top-level CMakeLists.txt); it has no code of its own.
