# Compiler flags shared by every Sluice target, applied through one interface target so
# third-party code is never compiled with them.
add_library(sluice_options INTERFACE)
add_library(sluice::options ALIAS sluice_options)
target_compile_options(sluice_options INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                                                -Wnon-virtual-dtor -Wimplicit-fallthrough)
if(SLUICE_WERROR)
  target_compile_options(sluice_options INTERFACE -Werror)
endif()
# cpprestsdk's U() macro collides with fmt's templates (used by spdlog); Sluice never uses it.
target_compile_definitions(sluice_options INTERFACE _TURN_OFF_PLATFORM_STRING)
if(SLUICE_SANITIZE)
  # UBSan's vptr check misfires inside cpprestsdk's header templates (stream buffers are
  # instantiated both in libcpprest.so and in our objects, so their type_info differs;
  # microsoft/cpprestsdk#472). Every other ASan/UBSan check stays on. The flag must follow
  # -fsanitize=undefined on the command line, hence one call.
  target_compile_options(sluice_options INTERFACE -fsanitize=address,undefined
                                                  -fno-sanitize=vptr
                                                  -fno-sanitize-recover=undefined
                                                  -fno-omit-frame-pointer)
  target_link_options(sluice_options INTERFACE -fsanitize=address,undefined)
endif()
if(SLUICE_FUZZ)
  # libFuzzer (clang): every Sluice object is instrumented for coverage and checked by
  # ASan/UBSan; operator/fuzz links the fuzzer's main into each target.
  target_compile_options(sluice_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined
                                                  -fno-sanitize=vptr
                                                  -fno-sanitize-recover=undefined
                                                  -fno-omit-frame-pointer)
  target_link_options(sluice_options INTERFACE -fsanitize=address,undefined)
endif()

# sluice_add_unit_test(NAME SOURCES... LIBS...): one gtest binary, each test registered in
# CTest with the label `unit`.
function(sluice_add_unit_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} sluice::options GTest::gmock_main)
  gtest_discover_tests(${name} PROPERTIES LABELS unit DISCOVERY_TIMEOUT 60)
endfunction()
