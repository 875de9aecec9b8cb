// The compiled parts of Asio and Beast, built once for the whole tree
// (BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION are
// set for tandem_net), so that server.cc and client.cc do not each compile
// them again.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
