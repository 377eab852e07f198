// The one translation unit that compiles Asio's and Beast's implementation
// (BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION are set in CMake), so
// that every other file including their headers compiles declarations only.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
