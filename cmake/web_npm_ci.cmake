# Script mode step of web.cmake: `npm ci` in WEB_DIR, then touches STAMP. Several build dirs of one
# checkout share WEB_DIR/node_modules, so the install holds a lock and is skipped when another
# build did it meanwhile.
cmake_minimum_required(VERSION 3.25)
file(LOCK ${WEB_DIR}/.npm-ci.lock GUARD PROCESS TIMEOUT 900)
if(NOT EXISTS ${STAMP} OR ${WEB_DIR}/package-lock.json IS_NEWER_THAN ${STAMP}
   OR ${WEB_DIR}/package.json IS_NEWER_THAN ${STAMP})
  execute_process(COMMAND ${NPM} ci --no-audit --no-fund --loglevel=error
                  WORKING_DIRECTORY ${WEB_DIR} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "npm ci in ${WEB_DIR} failed (${rc})")
  endif()
endif()
# Also when another build installed meanwhile: this build's rule then sees a fresh stamp.
file(TOUCH ${STAMP})
