# The API contract: every response the integration tests receive (recorded by the test HTTP client,
# tests/support/api_record.hpp) hits an operation of docs/openapi.yaml with a status it describes
# and a JSON body its schema accepts (web/scripts/check-api-records.mjs: Ajv). The integration
# tests are the fixture that records: `ctest -R api.contract` runs them first. Label "integration".
set(MLADMIN_API_RECORDS ${CMAKE_BINARY_DIR}/api-records)
set(MLADMIN_API_RECORD_PROPERTIES
    ENVIRONMENT MLADMIN_API_RECORD=${MLADMIN_API_RECORDS}
    FIXTURES_SETUP api_records
    FIXTURES_REQUIRED api_records_clear)

add_test(NAME api.records.clear COMMAND ${CMAKE_COMMAND} -E rm -rf ${MLADMIN_API_RECORDS})
set_tests_properties(api.records.clear PROPERTIES FIXTURES_SETUP api_records_clear LABELS integration)

find_program(MLADMIN_CONTRACT_NODE node REQUIRED)
add_test(NAME api.contract
         COMMAND ${MLADMIN_CONTRACT_NODE} scripts/check-api-records.mjs ${PROJECT_SOURCE_DIR}/docs/openapi.yaml
                 ${MLADMIN_API_RECORDS}
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/web)
set_tests_properties(api.contract PROPERTIES
  FIXTURES_REQUIRED api_records
  LABELS integration
  TIMEOUT 120
  ENVIRONMENT_MODIFICATION "LD_PRELOAD=unset:")
