# Installs the built tapegrad into a scratch prefix, then configures, builds and runs a separate
# project that finds it with find_package(tapegrad) and compiles the README's training loop.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(PREFIX ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})

# The README's example is the text between the two marker lines of its first C++ block.
file(READ ${SOURCE_DIR}/README.md readme)
string(REGEX MATCH "<!-- readme-example:begin -->[^`]*```cpp\n(.*)```[^`]*<!-- readme-example:end -->" found "${readme}")
if(NOT found)
  message(FATAL_ERROR "README.md has no example between <!-- readme-example:begin --> and <!-- readme-example:end -->")
endif()
file(WRITE ${WORK_DIR}/src/readme_example.cpp "${CMAKE_MATCH_1}")
file(COPY ${SOURCE_DIR}/tests/consumer/CMakeLists.txt DESTINATION ${WORK_DIR}/src)

run(${CMAKE_COMMAND} -S ${WORK_DIR}/src -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/readme_example)
