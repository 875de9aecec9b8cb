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
# Test code is compiled with -O1 in the optimized build: the code under test
# keeps -O2, and a test's own translation unit, mostly gtest and JSON
# literals, builds in about half the time. A test of several files shares
# one precompiled header of gtest, gmock and JSON.
function(tandem_test_build_options name)
  target_compile_options(${name} PRIVATE $<$<CONFIG:RelWithDebInfo,Release>:-O1>)
  get_target_property(sources ${name} SOURCES)
  list(LENGTH sources n_sources)
  if(n_sources GREATER 1)
    target_precompile_headers(${name} PRIVATE <gtest/gtest.h> <gmock/gmock.h> <nlohmann/json.hpp> <string>
                              <vector> <memory>)
  endif()
endfunction()

function(tandem_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  tandem_test_build_options(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300)
endfunction()
