# embed_files(VAR NAMESPACE DIR): compiles every file of DIR into a generated .cpp that defines
# `std::span<const mladmin::EmbeddedFile> NAMESPACE::files()`, sorted by name. VAR receives the
# generated source's path. The files become part of the binary, so it needs nothing beside it.
function(embed_files var namespace dir)
  file(GLOB_RECURSE inputs CONFIGURE_DEPENDS ${dir}/*)
  list(SORT inputs)
  string(MAKE_C_IDENTIFIER ${namespace} ident)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/embedded/${ident}.cpp)
  # The list of the files, rewritten only when it changes: a file removed from DIR leaves every
  # other input older than the output, and only this list then tells the build to embed again.
  set(list_file ${CMAKE_CURRENT_BINARY_DIR}/embedded/${ident}.list)
  string(JOIN "\n" names ${inputs})
  file(CONFIGURE OUTPUT ${list_file} CONTENT "${names}\n")
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DNAMESPACE=${namespace} -DDIR=${dir}
            -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/embed_run.cmake
    DEPENDS ${inputs} ${list_file} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/embed_run.cmake
    COMMENT "Embedding ${dir}")
  set(${var} ${out} PARENT_SCOPE)
endfunction()
