#include "exportsync/logging.hpp"

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FileChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>
#include <Poco/SyslogChannel.h>

namespace exportsync {

void configureLogging(const std::string& target, const std::string& file, const std::string& level,
                      const std::string& ident) {
  Poco::AutoPtr<Poco::Channel> sink;
  std::string pattern = "%Y-%m-%d %H:%M:%S.%i %q %s: %t";
  if (target == "file") {
    Poco::AutoPtr<Poco::FileChannel> f(new Poco::FileChannel(file));
    f->setProperty("rotation", "10 M");
    f->setProperty("archive", "timestamp");
    f->setProperty("purgeCount", "10");
    f->setProperty("flush", "false");
    sink = f;
  } else if (target == "syslog") {
    Poco::AutoPtr<Poco::SyslogChannel> s(new Poco::SyslogChannel(ident));
    s->setProperty("facility", "LOG_DAEMON");
    sink = s;
    pattern = "%s: %t";  // syslog adds time and host
  } else {
    sink = new Poco::ConsoleChannel;
  }
  Poco::AutoPtr<Poco::PatternFormatter> fmt(new Poco::PatternFormatter(pattern));
  fmt->setProperty("times", "UTC");
  Poco::AutoPtr<Poco::FormattingChannel> chan(new Poco::FormattingChannel(fmt, sink));
  Poco::Logger::root().setChannel(chan);
  Poco::Logger::root().setLevel(level);
  // Loggers created before this call keep their old settings: update them too.
  Poco::Logger::setChannel("", chan);
  Poco::Logger::setLevel("", Poco::Logger::parseLevel(level));
}

}  // namespace exportsync
