#pragma once

#include <boost/json/object.hpp>
#include <string_view>

#include "domain/document_filter.hpp"

namespace mladmin::domain {

/// The spec as a JSON object with the API's names (absent fields left out).
boost::json::object filter_spec_json(const DocumentFilterSpec& spec);
/// Reads a spec from a JSON object such as a bulk action's `filter`; refuses unknown fields and
/// non-string values with a 400 naming `prefix` + the field.
DocumentFilterSpec filter_spec_from_json(const boost::json::object& object, std::string_view prefix);

}  // namespace mladmin::domain
