// data::read_csv: RFC 4180 quoting (checked against Python's csv module, tests/fixtures/data.json),
// type inference, missing values, the errors with file/line/column, the bounds, and a classifier
// trained from a CSV file end to end.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include <tapegrad/tapegrad.hpp>

#include "fixture.hpp"
#include "temp_dir.hpp"

using namespace tapegrad;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {
template <class F> std::string io_error_of(F&& f) {
    try {
        f();
    } catch (const IOError& e) {
        return e.what();
    }
    return "(no IOError)";
}
std::string csv_error(const std::string& text, const data::CsvOptions& o = data::CsvOptions()) {
    return io_error_of([&] { data::parse_csv(text, o, "x.csv"); });
}
void write(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary);
    f << bytes;
}
}  // namespace

TEST_CASE("read_csv splits fields as Python's csv module (RFC 4180)", "[csv]") {
    const auto fx = fixture::load("data.json");
    REQUIRE(fx["csv"].size() >= 6);
    for (const auto& c : fx["csv"]) {
        const std::string text = c["text"];
        INFO("text: " << text);
        // every field as text: no missing values, header read as a row of its own
        const auto t = data::parse_csv(text, data::CsvOptions().header(false).na_values({}).delimiter(c["delimiter"].get<std::string>()[0]));
        const auto& rows = c["rows"];
        REQUIRE(t.num_rows() == rows.size());
        for (std::size_t j = 0; j < t.num_columns(); ++j) {
            const auto& col = t.column(j);
            for (std::size_t r = 0; r < rows.size(); ++r) {
                REQUIRE(rows[r].size() == t.num_columns());
                const std::string want = rows[r][j];
                if (col.type == data::ColumnType::String)
                    CHECK(col.strings[r] == want);
                else
                    CHECK(col.numbers[r] == std::stod(want));
            }
        }
    }
}

TEST_CASE("read_csv: header, type inference, missing values, line endings", "[csv]") {
    const std::string text =
        "\xEF\xBB\xBF"  // a byte-order mark, skipped
        "age,name,score,empty,flag\r\n"
        "31,\"Doe, Jane\",1.5,,1\r\n"
        "\r\n"  // a blank line, skipped
        "NA,Bob,-2e3,NaN,0\n"
        " 7 ,\"multi\nline\",inf,,1\r"
        "40,,+0.25,null,1";  // no line ending at the end
    const auto t = data::parse_csv(text);
    CHECK(t.column_names() == std::vector<std::string>{"age", "name", "score", "empty", "flag"});
    REQUIRE(t.num_rows() == 4);
    const auto& age = t.column("age");
    CHECK(age.type == data::ColumnType::Number);
    CHECK(age.numbers[0] == 31);
    CHECK(std::isnan(age.numbers[1]));
    CHECK(age.missing == std::vector<bool>{false, true, false, false});
    CHECK(age.numbers[2] == 7);  // spaces around a number are allowed
    const auto& name = t.column("name");
    CHECK(name.type == data::ColumnType::String);
    CHECK(name.strings == std::vector<std::string>{"Doe, Jane", "Bob", "multi\nline", ""});
    CHECK(name.missing_count() == 1);
    const auto& score = t.column("score");
    CHECK(score.numbers == std::vector<double>{1.5, -2000, std::numeric_limits<double>::infinity(), 0.25});
    CHECK(t.column("empty").type == data::ColumnType::Number);  // nothing but missing values: numbers, all NaN
    CHECK(t.column("empty").missing_count() == 4);
    // line numbers of the rows (the header is line 1; blank lines and quoted line breaks count)
    CHECK(t.line_of_row(0) == 2);
    CHECK(t.line_of_row(1) == 4);
    CHECK(t.line_of_row(2) == 5);
    CHECK(t.line_of_row(3) == 7);
    CHECK_THROWS_AS(t.line_of_row(4), IndexError);

    // numbers: what counts as one
    const auto n = data::parse_csv(
        "a,b,c,d,e,f\n1e999,-1e999,1e-400,4.9e-324,.5,5.\n2,3,4,5,6,7\n");
    CHECK(n.column("a").numbers[0] == std::numeric_limits<double>::infinity());
    CHECK(n.column("b").numbers[0] == -std::numeric_limits<double>::infinity());
    CHECK(n.column("c").numbers[0] == 0);
    CHECK(n.column("d").numbers[0] == 4.9e-324);  // the smallest subnormal
    CHECK(n.column("e").numbers[0] == 0.5);
    CHECK(n.column("f").numbers[0] == 5);
    for (const char* text_value : {"0x10", "1.2.3", "1e", "--1", "1,5", "e5", "12abc", "+"}) {
        INFO(text_value);
        const auto s = data::parse_csv(std::string("v\n1\n\"") + text_value + "\"\n");
        CHECK(s.column("v").type == data::ColumnType::String);
    }
    // configurable missing values; a quote inside an unquoted field is a character
    const auto m = data::parse_csv("k;v\n?;5'10\"\n1;x\n", data::CsvOptions().delimiter(';').na_values({"?"}));
    CHECK(m.column("k").missing == std::vector<bool>{true, false});
    CHECK(m.column("v").strings[0] == "5'10\"");
    // header(false): columns named 0, 1, …; blank header names as pandas names them
    CHECK(data::parse_csv("1,2\n3,4\n", data::CsvOptions().header(false)).column_names() == std::vector<std::string>{"0", "1"});
    CHECK(data::parse_csv(",b,\n1,2,3\n").column_names() == std::vector<std::string>{"Unnamed: 0", "b", "Unnamed: 2"});
    // a header alone is a table without rows
    CHECK(data::parse_csv("a,b\n").num_rows() == 0);
}

TEST_CASE("read_csv errors name the file, the line and the column", "[csv][bad_input]") {
    CHECK_THAT(csv_error("id,name,x,y,age\n1,a,2,3,4\n1,a,2,3,4\n\n1,a,2,3,4\n\n1,a,2,3\n"),
               Equals("read_csv: 'x.csv' line 7, column 'age': expected 5 fields, found 4"));
    CHECK_THAT(csv_error("a,b\n1,2,3\n"), Equals("read_csv: 'x.csv' line 2: expected 2 fields, found 3"));
    CHECK_THAT(csv_error("a,b\n1,\"x\ny\",\n"), Equals("read_csv: 'x.csv' line 2: expected 2 fields, found 3"));  // record's first line
    CHECK_THAT(csv_error("a,name\n1,2\n3,\"never closed\n4,5\n"),
               Equals("read_csv: 'x.csv' line 3, column 'name': unterminated quoted field (the file ends inside it)"));
    CHECK_THAT(csv_error("a,b\n\"x\"y,2\n"), Contains("read_csv: 'x.csv' line 2, column 'a': unexpected character 'y' after the closing quote"));
    CHECK_THAT(csv_error(""), Equals("read_csv: 'x.csv': empty file: No columns to parse from file"));
    CHECK_THAT(csv_error("\n\r\n\n"), Equals("read_csv: 'x.csv': empty file: No columns to parse from file"));
    CHECK_THAT(csv_error("\xEF\xBB\xBF"), Contains("empty file"));
    CHECK_THAT(csv_error("\na,age,b,c,age\n"), Equals("read_csv: 'x.csv' line 2: duplicate column name 'age' (columns 2 and 5)"));
    CHECK_THAT(csv_error(std::string("a,b\n1,2\n3,\0\n", 12)),
               Equals("read_csv: 'x.csv' line 3: a NUL byte at offset 10: this is a binary file, not CSV text"));
    CHECK_THAT(csv_error("a,b\n1,2\n", data::CsvOptions().max_bytes(4)),
               Contains("read_csv: 'x.csv': 8 bytes is more than max_bytes (4)"));
    CHECK_THAT(csv_error("a,b\n1,2\n3,4\n", data::CsvOptions().max_cells(3)),
               Contains("read_csv: 'x.csv' line 3: more than max_cells (3) fields in all"));
    CHECK_THROWS_WITH(data::parse_csv("a\n1\n", data::CsvOptions().delimiter('"')), Contains("the delimiter cannot be '\"'"));

    test_util::TempDir dir;
    CHECK_THAT(io_error_of([&] { data::read_csv(dir.file("missing.csv")); }),
               Contains("read_csv: cannot open '" + dir.file("missing.csv") + "': No such file or directory"));
    CHECK_THAT(io_error_of([&] { data::read_csv(dir.path.string()); }), Contains("is a directory, not a CSV file"));
    write(dir.file("big.csv"), std::string(100, 'a'));
    CHECK_THAT(io_error_of([&] { data::read_csv(dir.file("big.csv"), data::CsvOptions().max_bytes(99)); }),
               Equals("read_csv: '" + dir.file("big.csv") + "' is 100 bytes, more than max_bytes (99); raise CsvOptions::max_bytes to read it"));
    write(dir.file("bad.csv"), "a,b\n1\n");
    CHECK_THAT(io_error_of([&] { data::read_csv(dir.file("bad.csv")); }),
               Equals("read_csv: '" + dir.file("bad.csv") + "' line 2, column 'b': expected 2 fields, found 1"));

    // the table's accessors
    const auto t = data::parse_csv("x,label,note\n1,cat,\n2,dog,hi\nNA,cat,ok\n", data::CsvOptions(), "pets.csv");
    CHECK_THROWS_WITH(t.column("X"), Contains("CsvTable: no column named 'X' in 'pets.csv' (columns: 'x', 'label', 'note')"));
    CHECK_THROWS_AS(t.column(3), IndexError);
    CHECK_THROWS_WITH(t.to_array<float>({"x"}), Contains("CsvTable::to_array: column 'x' of 'pets.csv' has a missing value on line 4"));
    CHECK_THROWS_WITH(t.to_array<float>({"label"}), Contains("column 'label' of 'pets.csv' holds text, not numbers (line 2: 'cat')"));
    CHECK_THROWS_WITH(t.labels("x"), Contains("CsvTable::labels: column 'x' of 'pets.csv' has a missing value on line 4"));
    CHECK_THROWS_WITH(data::parse_csv("y\n1.5\n").labels("y"), Contains("a class index must be an integer in [0, 1000000), got 1.5"));
    CHECK_THROWS_WITH(t.to_array_except<float>({"nope"}), Contains("no column named 'nope'"));
}

TEST_CASE("read_csv → TensorDataset → random_split → DataLoader: a classifier from a CSV file", "[csv]") {
    // two classes of points around (−1, −1) and (1, 1), written as a CSV file with a text label
    test_util::TempDir dir;
    Generator g(3);
    {
        std::ofstream f(dir.file("points.csv"));
        f << "x0,x1,species\n";
        for (int i = 0; i < 200; ++i) {
            const bool b = i % 2;
            f << (b ? 1 : -1) + 0.5 * g.normal() << "," << (b ? 1 : -1) + 0.5 * g.normal() << "," << (b ? "\"blue, b\"" : "red") << "\n";
        }
    }
    const auto table = data::read_csv(dir.file("points.csv"));
    auto [y, classes] = table.labels("species");
    CHECK(classes == std::vector<std::string>{"blue, b", "red"});
    xt::xarray<float> x = table.to_array_except<float>({"species"});
    CHECK(x.shape() == std::vector<std::size_t>{200, 2});
    CHECK(x(7, 1) == float(table.column("x1").numbers[7]));

    data::TensorDataset<float> ds(std::move(x), std::move(y));
    auto parts = data::random_split(ds, {0.8, 0.2}, g);
    data::DataLoader<float> train(parts[0], 16, /*shuffle=*/true, 1);
    nn::Linear<float> model(2, 2, true, g);
    optim::SGD<float> opt(model.parameters(), 0.1);
    for (int epoch = 0; epoch < 5; ++epoch)
        for (auto& [xb, yb] : train) {
            opt.zero_grad();
            Tensor<float> loss = cross_entropy(model(xb), yb, CrossEntropyOptions().label_smoothing(0.05));
            loss.backward();
            opt.step();
        }
    data::TensorDataset<float> test = parts[1].materialize();
    NoGradGuard no_grad;
    Tensor<float> logits = model(Tensor<float>(test.inputs()));
    const double acc = train::accuracy(logits, test.targets());
    CHECK(acc > 0.9);
    auto cm = train::ConfusionMatrix::from_predictions(train::predictions_of(logits), test.targets(), classes);
    CHECK(cm.total() == 40);
    CHECK(cm.accuracy() == acc);
}

// The hand-written seeds of tests/fuzz/corpus/csv/ must stay tables (or the fuzzer starts from the
// error paths only).
TEST_CASE("fuzz seeds: the seed CSV files still read as tables", "[csv][fuzz]") {
    const std::filesystem::path dir = std::filesystem::path(TAPEGRAD_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "csv";
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        INFO("seed " << e.path().string());
        const bool semi = e.path().filename().string().find("semicolon") != std::string::npos;
        const auto t = data::read_csv(e.path().string(), data::CsvOptions().delimiter(semi ? ';' : ','));
        CHECK(t.num_rows() >= 1);
        CHECK(t.num_columns() >= 2);
        ++n;
    }
    CHECK(n >= 6);
}
