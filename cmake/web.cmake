# embed_web(VAR NAMESPACE WEB_DIR): builds the dashboard (the React + Vite app in WEB_DIR) and
# compiles its files into a generated .cpp that defines
# `std::span<const mladmin::EmbeddedWebFile> NAMESPACE::files()`, sorted by name. VAR receives the
# generated source's path. Three build steps, each rerun only when its inputs change:
#   1. `npm ci` when WEB_DIR/node_modules has no stamp newer than package.json and package-lock.json
#      (cmake/web_npm_ci.cmake; a lock keeps two build dirs from installing at once);
#   2. `npm run build` (the API types from docs/openapi.yaml, tsc, vite) into ${CMAKE_BINARY_DIR}/web-dist
#      when a file of the app or the API's description changes;
#   3. cmake/web_embed_run.cmake: gzip -9 of the text files, then the .cpp, which pulls the bytes in
#      with the assembler's .incbin (vite hashes the file names, so they are known only then).
function(embed_web var namespace web_dir)
  find_program(MLADMIN_NODE node)
  find_program(MLADMIN_NPM npm)
  find_program(MLADMIN_GZIP gzip)
  if(NOT MLADMIN_NODE OR NOT MLADMIN_NPM OR NOT MLADMIN_GZIP)
    message(FATAL_ERROR "The dashboard needs node, npm (Debian: nodejs npm) and gzip to build: run scripts/install-deps")
  endif()
  # Vite 8 wants Node ^20.19 or >=22.12; say so here rather than through a bundler's stack trace.
  execute_process(COMMAND ${MLADMIN_NODE} --version OUTPUT_VARIABLE node_version OUTPUT_STRIP_TRAILING_WHITESPACE)
  string(REGEX REPLACE "^v" "" node_version "${node_version}")
  if(node_version VERSION_LESS 20.19 OR (node_version VERSION_GREATER_EQUAL 21 AND node_version VERSION_LESS 22.12))
    message(FATAL_ERROR "The dashboard's build (Vite 8) needs Node.js ^20.19 or >= 22.12; ${MLADMIN_NODE} is ${node_version}")
  endif()

  # The API's description (docs/openapi.yaml) feeds the build twice: the dashboard's types
  # (web/scripts/openapi-types.mjs, openapi-typescript, before tsc) and api-docs/ in the output
  # (web/scripts/apiDocsPlugin.ts: openapi.json and the Swagger UI page, served at
  # /api/openapi.json and /api/docs).
  file(GLOB_RECURSE app_sources CONFIGURE_DEPENDS ${web_dir}/src/* ${web_dir}/api-docs/* ${web_dir}/scripts/*)
  set(app_config ${web_dir}/index.html ${web_dir}/package.json ${web_dir}/package-lock.json
                 ${web_dir}/vite.config.ts ${web_dir}/tsconfig.json ${web_dir}/../docs/openapi.yaml)
  string(MAKE_C_IDENTIFIER ${namespace} ident)

  set(npm_stamp ${web_dir}/node_modules/.mladmin-npm-ci.stamp)
  add_custom_command(
    OUTPUT ${npm_stamp}
    COMMAND ${CMAKE_COMMAND} -DWEB_DIR=${web_dir} -DNPM=${MLADMIN_NPM} -DSTAMP=${npm_stamp}
            -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/web_npm_ci.cmake
    DEPENDS ${web_dir}/package.json ${web_dir}/package-lock.json
            ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/web_npm_ci.cmake
    COMMENT "Installing the dashboard's npm packages (npm ci)"
    VERBATIM)

  set(dist ${CMAKE_BINARY_DIR}/web-dist)
  set(dist_stamp ${CMAKE_BINARY_DIR}/web-dist.stamp)
  add_custom_command(
    OUTPUT ${dist_stamp}
    COMMAND ${MLADMIN_NPM} run --silent build -- --outDir ${dist} --emptyOutDir --logLevel warn
    COMMAND ${CMAKE_COMMAND} -E touch ${dist_stamp}
    WORKING_DIRECTORY ${web_dir}
    DEPENDS ${npm_stamp} ${app_sources} ${app_config}
    COMMENT "Building the dashboard (tsc + vite) into ${dist}"
    VERBATIM)

  set(out ${CMAKE_CURRENT_BINARY_DIR}/embedded/${ident}.cpp)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DNAMESPACE=${namespace} -DDIR=${dist}
            -DGZIP_DIR=${CMAKE_BINARY_DIR}/web-gzip -DGZIP=${MLADMIN_GZIP}
            -P ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/web_embed_run.cmake
    DEPENDS ${dist_stamp} ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/web_embed_run.cmake
    COMMENT "Embedding the dashboard"
    VERBATIM)
  set(${var} ${out} PARENT_SCOPE)
endfunction()
