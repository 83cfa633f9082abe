// Compiles Boost.Asio and Boost.Beast once for the whole program, so the rest
// of src/http only parses their declarations (BOOST_ASIO_SEPARATE_COMPILATION
// and BOOST_BEAST_SEPARATE_COMPILATION are set on the rtgw_http target).
// Every translation unit that includes Asio or Beast must be built with the
// same two macros, which is why they stay inside src/http/*.cpp.

#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
