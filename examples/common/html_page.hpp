#pragma once
// One self-contained HTML page for a lesson: the text as it prints in the terminal (tables and
// formulas line up in a monospace block), pictures as inline SVG, a style sheet in the page — no
// scripts, fonts or anything else from the network — that reads on a phone and on a desktop.
//
//   examples::write_html_page("lesson.html", "Cross-entropy, step by step",
//                             {{"The lesson", text, ""}, {"The graph", "", svg}});
#include <string>
#include <vector>

namespace examples {

struct HtmlSection {
    std::string heading;
    std::string text;  // shown preformatted (escaped); may be empty
    std::string svg;   // an SVG document (as viz::render_svg gives it) shown inline; may be empty
};

// &, <, >, " and ' as entities.
std::string html_escape(const std::string& s);

// The page, written atomically (a temporary file beside it, then renamed). tapegrad::IOError
// naming the path when it cannot be written.
void write_html_page(const std::string& path, const std::string& title, const std::vector<HtmlSection>& sections);

}  // namespace examples
