# Every dependency is a Debian package installed by scripts/install-deps.sh.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
find_package(OpenSSL 3 REQUIRED)
find_package(absl REQUIRED)
find_package(Protobuf REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS system)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)

# libphonenumber ships neither a CMake nor a pkg-config file.
find_library(PHONENUMBER_LIBRARY phonenumber REQUIRED)
find_path(PHONENUMBER_INCLUDE_DIR phonenumbers/phonenumberutil.h REQUIRED)
add_library(tandem_libphonenumber INTERFACE)
target_link_libraries(tandem_libphonenumber INTERFACE ${PHONENUMBER_LIBRARY} protobuf::libprotobuf)
target_include_directories(tandem_libphonenumber SYSTEM INTERFACE ${PHONENUMBER_INCLUDE_DIR})

# toml++ is header-only.
find_path(TOMLPLUSPLUS_INCLUDE_DIR toml++/toml.h REQUIRED)
add_library(tandem_tomlplusplus INTERFACE)
target_include_directories(tandem_tomlplusplus SYSTEM INTERFACE ${TOMLPLUSPLUS_INCLUDE_DIR})

# tandem_test(NAME SOURCES... LIBS ...) builds one gtest binary and registers its tests.
# Test code is compiled without optimization in the optimized build: the
# code under test keeps -O2, and a test's own translation unit, mostly gtest
# and JSON literals, builds in a fraction of the time. Every test reuses one
# precompiled header of gtest, gmock and JSON (tandem_test_pch).
function(tandem_test_build_options name)
  if(NOT TARGET tandem_test_pch)
    add_library(tandem_test_pch OBJECT ${PROJECT_SOURCE_DIR}/cmake/pch_anchor.cc)
    target_link_libraries(tandem_test_pch PRIVATE GTest::gtest GTest::gmock)
    target_compile_options(tandem_test_pch PRIVATE $<$<CONFIG:RelWithDebInfo,Release>:-O0>)
    target_precompile_headers(tandem_test_pch PRIVATE <gtest/gtest.h> <gmock/gmock.h> <nlohmann/json.hpp>
                              <string> <vector> <memory>)
  endif()
  target_compile_options(${name} PRIVATE $<$<CONFIG:RelWithDebInfo,Release>:-O0>)
  target_precompile_headers(${name} REUSE_FROM tandem_test_pch)
endfunction()

function(tandem_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  tandem_test_build_options(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
endfunction()
