// write_html_page: see html_page.hpp.
#include "html_page.hpp"

#include <sstream>

#include <tapegrad/io/atomic_file.hpp>

namespace examples {

std::string html_escape(const std::string& s) {
    std::string o;
    o.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': o += "&amp;"; break;
            case '<': o += "&lt;"; break;
            case '>': o += "&gt;"; break;
            case '"': o += "&quot;"; break;
            case '\'': o += "&#39;"; break;
            default: o += c;
        }
    }
    return o;
}

namespace {
// The <svg …>…</svg> element of an SVG document (Graphviz puts an XML declaration, a doctype and
// comments before it, which do not belong inside HTML).
std::string svg_element(const std::string& doc) {
    const auto at = doc.find("<svg");
    return at == std::string::npos ? std::string() : doc.substr(at);
}

const char* const kStyle = R"(
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 70rem;
         padding: 1rem; line-height: 1.45; color: #1f2937; background: #fff; }
  h1 { font-size: 1.5rem; margin: 0.5rem 0 1rem; }
  h2 { font-size: 1.15rem; margin: 1.5rem 0 0.5rem; border-bottom: 1px solid #e5e7eb; }
  pre { font-size: 0.8rem; background: #f9fafb; border: 1px solid #e5e7eb; border-radius: 6px;
        padding: 0.75rem; overflow-x: auto; white-space: pre; }
  figure { margin: 0; overflow-x: auto; }
  figure svg { max-width: 100%; height: auto; }
  @media (max-width: 40rem) { body { padding: 0.5rem; } pre { font-size: 0.7rem; } }
)";
}  // namespace

void write_html_page(const std::string& path, const std::string& title, const std::vector<HtmlSection>& sections) {
    std::ostringstream os;
    os << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       << "<title>" << html_escape(title) << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n"
       << "<h1>" << html_escape(title) << "</h1>\n";
    for (const HtmlSection& s : sections) {
        os << "<section>\n";
        if (!s.heading.empty()) os << "<h2>" << html_escape(s.heading) << "</h2>\n";
        if (!s.text.empty()) os << "<pre>" << html_escape(s.text) << "</pre>\n";
        if (!s.svg.empty()) os << "<figure>\n" << svg_element(s.svg) << "</figure>\n";
        os << "</section>\n";
    }
    os << "<footer><p>Written by tapegrad's explainer; every number was computed by the program "
          "that wrote this page.</p></footer>\n</body>\n</html>\n";
    tapegrad::io::write_file_atomically(path, os.str());
}

}  // namespace examples
