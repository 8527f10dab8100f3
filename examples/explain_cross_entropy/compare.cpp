// --compare: two settings of one case side by side (see compare.hpp).
#include "compare.hpp"

#include <cmath>
#include <sstream>

#include "lessons.hpp"
#include "other_losses.hpp"
#include "text_tables.hpp"

namespace explain_ce {

std::vector<std::string> split_options(const std::string& options) {
    std::vector<std::string> out;
    std::string cur;
    bool have = false;
    char quote = 0;
    int depth = 0;
    for (char c : options) {
        if (quote) {
            if (c == quote) quote = 0;
            else cur += c;
            continue;
        }
        if (c == '\'' || c == '"') {
            quote = c, have = true;
            continue;
        }
        if (c == '[') ++depth;
        if (c == ']' && --depth < 0) throw InputError("--compare: a ']' without its '[' in: " + options);
        if (depth == 0 && std::isspace(static_cast<unsigned char>(c))) {
            if (have) out.push_back(cur), cur.clear(), have = false;
            continue;
        }
        cur += c, have = true;
    }
    if (quote) throw InputError(std::string("--compare: an unclosed ") + quote + " in: " + options);
    if (depth > 0) throw InputError("--compare: an unclosed '[' in: " + options);
    if (have) out.push_back(cur);
    return out;
}

namespace {

// One setting's numbers in the form both kinds of loss share.
struct Side {
    std::string label;                       // the setting, in words
    std::vector<std::string> term_names;     // "sample 0", "[0, 1]", ...
    std::vector<double> terms;               // before the reduction
    xt::xarray<double> loss, grad;           // tapegrad's
    std::vector<std::string> row_names;      // the gradient's rows
    std::vector<std::vector<double>> rows;
    std::vector<std::vector<std::string>> row_columns;  // column names per row (empty: classes)
    bool agrees = true;                      // by hand and tapegrad
};

Side side_of(const UserInput& in) {
    Side s;
    if (in.loss == "cross_entropy") {
        const Problem pr = read_problem(in);
        const LibResult lib = run_library(pr);
        const Hand h = by_hand(pr);
        std::ostringstream os;
        os << "cross_entropy, reduction '" << tapegrad::to_string(pr.reduction) << "'";
        if (pr.has_weight) os << ", weight " << echo_array(pr.weight, 4);
        if (!pr.prob) os << ", ignore_index " << pr.ignore_index;
        if (pr.eps > 0) os << ", label_smoothing " << short_num(pr.eps);
        s.label = os.str();
        for (const Position& P : h.pos) {
            const std::string name = P.name.substr(0, P.name.find(" = "));
            s.term_names.push_back(name);
            s.terms.push_back(P.loss);
            s.row_names.push_back(P.name);
            s.rows.push_back(P.grad);
            s.row_columns.emplace_back();
        }
        s.loss = lib.loss;
        s.grad = lib.grad;
        s.agrees = agree(h.loss, lib.loss) && agree(h.grad, lib.grad);
        return s;
    }
    const LossProblem p = read_loss_problem(in);
    const LibResult lib = run_loss_library(p);
    const ElementHand h = loss_by_hand(p);
    s.label = describe(p);
    for (std::size_t i = 0; i < h.per.size(); ++i) s.term_names.push_back(index_name(h.per_shape, i)), s.terms.push_back(h.per[i]);
    const std::vector<std::size_t> xs(p.input.shape().begin(), p.input.shape().end());
    const std::size_t len = xs.empty() ? 1 : xs.back(), n = h.grad.size();
    for (std::size_t i0 = 0; len > 0 && i0 < n; i0 += len) {
        std::string name = xs.size() <= 1 ? "the input's gradient" : "row " + index_name(xs, i0);
        if (xs.size() > 1) name = name.substr(0, name.rfind(',')) + ", :]";
        s.row_names.push_back(name);
        std::vector<double> r;
        std::vector<std::string> cols;
        for (std::size_t i = i0; i < i0 + len; ++i) r.push_back(h.grad.data()[i]), cols.push_back(index_name(xs, i));
        s.rows.push_back(std::move(r));
        s.row_columns.push_back(std::move(cols));
    }
    s.loss = lib.loss;
    s.grad = lib.grad;
    s.agrees = agree(h.loss, lib.loss) && agree(h.grad, lib.grad);
    return s;
}

std::vector<double> minus(const std::vector<double>& b, const std::vector<double>& a) {
    std::vector<double> d;
    for (std::size_t i = 0; i < a.size(); ++i) d.push_back(b[i] - a[i]);
    return d;
}

// Why the numbers move, for each option B changes.
void remarks(const UserInput& a, const UserInput& b, std::ostream& out) {
    if (b.loss != a.loss)
        out << "  - Another loss: " << a.loss << " -> " << b.loss << ". The terms and the gradient follow its formula.\n";
    if (b.label_smoothing != a.label_smoothing)
        out << "  - label_smoothing " << short_num(a.label_smoothing) << " -> " << short_num(b.label_smoothing)
            << ": the target becomes a mix of the one-hot target and the\n"
               "    uniform distribution, (1 - eps) one-hot + eps/C. The target class is asked for 1 - eps + eps/C\n"
               "    instead of 1 and every other class for eps/C instead of 0, so the gradient row p - target\n"
               "    pulls the target class up less and stops pushing the other classes all the way to 0: a\n"
               "    confident, correct sample keeps a small loss instead of one that only an infinite logit ends.\n";
    if (b.weight != a.weight && b.loss == "cross_entropy")
        out << "  - weight: each term is multiplied by its class's weight; with 'mean' cross_entropy divides by\n"
               "    the sum of the weights of the targets (not by N), so the loss stays a weighted average,\n"
               "    and each gradient row is scaled by its weight over that sum.\n";
    else if (b.weight != a.weight)
        out << "  - weight: each element's term and gradient are multiplied by its weight (broadcast to the\n"
               "    input); 'mean' still divides by the number of " << (b.loss == "multilabel_soft_margin_loss" ? "samples" : "elements")
            << ", so weights change the loss's scale too.\n";
    if (b.reduction != a.reduction)
        out << "  - reduction '" << a.reduction << "' -> '" << b.reduction
            << "': the terms are the same; only what is done with them changes ('none' returns\n"
               "    them, 'sum' adds them, 'mean' divides the sum by the divisor). The gradient rows are scaled\n"
               "    by the same factor: their directions do not change, only their length.\n";
    if (b.ignore_index != a.ignore_index)
        out << "  - ignore_index " << a.ignore_index << " -> " << b.ignore_index
            << ": a target equal to it has term 0 and gradient row 0, and leaves\n"
               "    the 'mean' divisor, so the other rows grow when it is ignored.\n";
    if (b.pos_weight != a.pos_weight)
        out << "  - pos_weight multiplies the positive part of each term (t log sigmoid(x)): where t > 0 the\n"
               "    loss and the pull of the gradient towards 1 grow by pw, the negatives are unchanged.\n";
    if ((b.beta != a.beta) || (b.delta != a.delta))
        out << "  - The switch between the quadratic part (gradient proportional to the error) and the linear\n"
               "    part (constant gradient) moves: elements whose |x - t| crosses it change their kind.\n";
    if (b.log_target != a.log_target)
        out << "  - log_target: the target is read as " << (b.log_target ? "log p" : "p") << " instead of "
            << (b.log_target ? "p" : "log p") << ".\n";
    if (b.target != a.target) out << "  - Another target: the terms and the gradient follow the new target.\n";
    if (b.logits != a.logits) out << "  - Another input: the terms and the gradient follow the new input.\n";
}

}  // namespace

int explain_compare(const UserInput& a, const UserInput& b, const std::string& options, std::ostream& out) {
    const Side A = side_of(a), B = side_of(b);  // both validated before anything is printed
    if (A.terms.size() != B.terms.size() || A.grad.shape() != B.grad.shape())
        throw InputError("--compare: the two settings give terms or gradients of different shapes (" +
                         std::to_string(A.terms.size()) + " and " + std::to_string(B.terms.size()) +
                         " terms); compare two settings of the same case");
    Lesson L{out};
    out << "Two settings of one case, side by side\n======================================\n"
        << "A: " << A.label << "\n"
        << "B: " << B.label << "\n"
        << "   (A with " << options << ")\n";

    out << "\nThe terms before the reduction (one per " << (a.loss == "cross_entropy" ? "sample or position" : "element or sample")
        << "):\n";
    Table t;
    t.columns = A.term_names;
    t.add("A", A.terms);
    t.add("B", B.terms);
    t.add("B - A", minus(B.terms, A.terms));
    t.print(out, "  ");

    out << "\nThe loss:\n";
    out << "  A: " << array_str(A.loss) << "\n  B: " << array_str(B.loss) << "\n";
    if (A.loss.size() == 1 && B.loss.size() == 1) {
        const double la = A.loss.data()[0], lb = B.loss.data()[0];
        out << "  B - A = " << num(lb - la);
        if (la != 0 && std::isfinite(la) && std::isfinite(lb)) out << "  (" << short_num(100 * (lb - la) / std::abs(la)) << " %)";
        out << "\n";
    }

    out << "\nThe gradient w.r.t. the " << (a.loss == "cross_entropy" ? "logits" : "input") << ", row by row:\n";
    double worst = -1;
    std::string worst_at;
    for (std::size_t r = 0; r < A.rows.size(); ++r) {
        out << "\n  " << A.row_names[r] << "\n";
        Table g;
        g.columns = A.row_columns[r];
        g.add("A", A.rows[r]);
        g.add("B", B.rows[r]);
        const std::vector<double> d = minus(B.rows[r], A.rows[r]);
        g.add("B - A", d);
        g.print(out, "    ");
        for (std::size_t c = 0; c < d.size(); ++c)
            if (std::abs(d[c]) > worst) {
                worst = std::abs(d[c]);
                worst_at = A.row_names[r] + ", " + (A.row_columns[r].empty() ? "class " + std::to_string(c) : A.row_columns[r][c]) +
                           ": " + num(A.rows[r][c]) + " -> " + num(B.rows[r][c]);
            }
    }

    out << "\nWhat changed:\n";
    remarks(a, b, out);
    if (worst > 0) out << "  - The largest change in the gradient: " << worst_at << ".\n";
    else if (worst == 0) out << "  - The gradient did not change.\n";
    out << "\nBy hand and tapegrad's backward(), setting A: " << L.mark(A.agrees) << ", setting B: " << L.mark(B.agrees) << "\n";
    return L.all_agree ? 0 : 1;
}

void compare_json(const UserInput& a, const UserInput& b, std::ostream& out) {
    const Side A = side_of(a), B = side_of(b);
    nlohmann::json j;
    j["a"]["loss"] = nested_json(A.loss);
    j["a"]["grad"] = nested_json(A.grad);
    j["b"]["loss"] = nested_json(B.loss);
    j["b"]["grad"] = nested_json(B.grad);
    out << j.dump() << "\n";
}

}  // namespace explain_ce
