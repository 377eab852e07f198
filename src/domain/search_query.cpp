#include "domain/search_query.hpp"

#include <utility>
#include <vector>

namespace mladmin::domain {

namespace {

enum class Kind { term, op_and, op_or, op_not, open, close, end };

struct Token {
  Kind kind = Kind::end;
  std::size_t pos = 0;
  std::string text;     ///< a term's words (without quotes or the trailing '*')
  bool prefix = false;  ///< a term ended by '*'
  bool phrase = false;  ///< a term written in quotes
};

struct Failure {
  SearchQueryProblem problem;
};

[[noreturn]] void fail(std::size_t pos, std::string message) {
  throw Failure{{std::move(message) + " (at position " + std::to_string(pos) + ")", pos}};
}

/// The length of the UTF-8 sequence starting at text[i], or 0 when it is not valid UTF-8.
std::size_t utf8_length(std::string_view text, std::size_t i) {
  const auto c = static_cast<unsigned char>(text[i]);
  std::size_t n = 0;
  unsigned min = 0;
  unsigned cp = 0;
  if (c < 0x80) {
    return 1;
  }
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    min = 0x80;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    min = 0x800;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    min = 0x10000;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > text.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<unsigned char>(text[i + k]);
    if ((cc & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

bool is_space(char c) {
  return c == ' ';
}

/// True when the tokenizer will find something to search for in `text`: an ASCII letter or
/// digit, or any non-ASCII character.
bool searchable(std::string_view text) {
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      return true;
    }
  }
  return false;
}

std::vector<Token> tokenize(std::string_view text) {
  // Whole-text checks first: encoding and control characters.
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) {
      fail(i, "the search contains a control character");
    }
    const auto n = utf8_length(text, i);
    if (n == 0) {
      fail(i, "the search is not valid UTF-8");
    }
    i += n;
  }
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (is_space(c)) {
      ++i;
      continue;
    }
    Token t;
    t.pos = i;
    if (c == '(' || c == ')') {
      t.kind = c == '(' ? Kind::open : Kind::close;
      ++i;
    } else if (c == '"') {
      const auto close = text.find('"', i + 1);
      if (close == std::string_view::npos) {
        fail(i, "unclosed quote");
      }
      t.kind = Kind::term;
      t.phrase = true;
      t.text = std::string(text.substr(i + 1, close - i - 1));
      i = close + 1;
      if (i < text.size() && text[i] == '*') {
        t.prefix = true;
        ++i;
      }
      if (!searchable(t.text)) {
        fail(t.pos, "the phrase has no letters or digits to search for");
      }
    } else if (c == '*') {
      fail(i, "'*' must follow a word, as in 'jour*'");
    } else {
      std::size_t end = i;
      while (end < text.size() && !is_space(text[end]) && text[end] != '(' && text[end] != ')' &&
             text[end] != '"') {
        ++end;
      }
      std::string word(text.substr(i, end - i));
      i = end;
      const auto star = word.find('*');
      if (star != std::string::npos && star + 1 != word.size()) {
        fail(t.pos + star, "'*' can only end a word");
      }
      if (star != std::string::npos) {
        t.prefix = true;
        word.pop_back();
      }
      if (!t.prefix && word == "AND") {
        t.kind = Kind::op_and;
      } else if (!t.prefix && word == "OR") {
        t.kind = Kind::op_or;
      } else if (!t.prefix && word == "NOT") {
        t.kind = Kind::op_not;
      } else {
        t.kind = Kind::term;
        if (!searchable(word)) {
          fail(t.pos, "'" + word + "' has no letters or digits to search for");
        }
      }
      t.text = std::move(word);
    }
    out.push_back(std::move(t));
  }
  Token end;
  end.kind = Kind::end;
  end.pos = text.size();
  out.push_back(end);
  return out;
}

const char* describe(Kind k) {
  switch (k) {
    case Kind::op_and:
      return "AND";
    case Kind::op_or:
      return "OR";
    case Kind::op_not:
      return "NOT";
    case Kind::open:
      return "'('";
    case Kind::close:
      return "')'";
    case Kind::end:
      return "the end";
    case Kind::term:
      return "a term";
  }
  return "?";
}

/// Recursive descent over the grammar
///   or   := and ("OR" and)*
///   and  := not (["AND"] not)*
///   not  := atom ("NOT" atom)*
///   atom := term | "(" or ")"
/// emitting FTS5 syntax as it goes.
class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  std::string parse() {
    auto out = parse_or(0);
    if (peek().kind == Kind::close) {
      fail(peek().pos, "unmatched ')'");
    }
    if (peek().kind != Kind::end) {
      fail(peek().pos, std::string("unexpected ") + describe(peek().kind));
    }
    return out;
  }
  std::size_t phrases() const { return phrases_; }

 private:
  const Token& peek() const { return t_[i_]; }
  const Token& take() { return t_[i_++]; }

  static bool starts_atom(Kind k) { return k == Kind::term || k == Kind::open; }

  std::string parse_or(std::size_t depth) {
    auto left = parse_and(depth);
    while (peek().kind == Kind::op_or) {
      const auto& op = take();
      expect_operand(op);
      left = "(" + left + " OR " + parse_and(depth) + ")";
    }
    return left;
  }

  std::string parse_and(std::size_t depth) {
    auto left = parse_not(depth);
    for (;;) {
      if (peek().kind == Kind::op_and) {
        const auto& op = take();
        expect_operand(op);
      } else if (!starts_atom(peek().kind)) {
        return left;
      }
      left = "(" + left + " AND " + parse_not(depth) + ")";
    }
  }

  std::string parse_not(std::size_t depth) {
    auto left = parse_atom(depth);
    while (peek().kind == Kind::op_not) {
      const auto& op = take();
      expect_operand(op);
      left = "(" + left + " NOT " + parse_atom(depth) + ")";
    }
    return left;
  }

  std::string parse_atom(std::size_t depth) {
    const Token& t = peek();
    switch (t.kind) {
      case Kind::term: {
        take();
        if (++phrases_ > SearchQuery::kMaxTerms) {
          fail(t.pos, "the search has more than " + std::to_string(SearchQuery::kMaxTerms) + " terms");
        }
        // The term's text goes inside an FTS5 string, where the only special character is the
        // double quote (never present: it delimits phrases when parsing).
        return "\"" + t.text + "\"" + (t.prefix ? " *" : "");
      }
      case Kind::open: {
        take();
        if (depth + 1 > SearchQuery::kMaxDepth) {
          fail(t.pos, "parentheses are nested more than " + std::to_string(SearchQuery::kMaxDepth) + " deep");
        }
        if (peek().kind == Kind::close) {
          fail(t.pos, "empty parentheses");
        }
        auto inner = parse_or(depth + 1);
        if (peek().kind != Kind::close) {
          fail(t.pos, "'(' is never closed");
        }
        take();
        return inner;
      }
      case Kind::op_not:
        fail(t.pos, "NOT needs a term on its left, as in 'goal NOT work'");
      case Kind::op_and:
      case Kind::op_or:
        fail(t.pos, std::string(describe(t.kind)) + " needs a term on its left");
      case Kind::close:
        fail(t.pos, "unmatched ')'");
      case Kind::end:
        fail(t.pos, "the search ends where a term is expected");
    }
    fail(t.pos, "unexpected input");
  }

  void expect_operand(const Token& op) {
    const Kind next = peek().kind;
    if (!starts_atom(next)) {
      fail(op.pos, std::string(describe(op.kind)) + " needs a term on its right, not " + describe(next));
    }
  }

  std::vector<Token> t_;
  std::size_t i_ = 0;
  std::size_t phrases_ = 0;
};

}  // namespace

SearchQuery::Parsed SearchQuery::parse(std::string_view text) {
  Parsed out;
  if (text.size() > kMaxBytes) {
    out.problem = SearchQueryProblem{"the search is " + std::to_string(text.size()) +
                                         " bytes long; at most " + std::to_string(kMaxBytes) + " are allowed",
                                     kMaxBytes};
    return out;
  }
  try {
    auto tokens = tokenize(text);
    if (tokens.size() == 1) {
      return out;  // blank: no search
    }
    Parser parser(std::move(tokens));
    auto fts5 = parser.parse();
    out.query = SearchQuery(std::move(fts5), parser.phrases());
  } catch (const Failure& f) {
    out.problem = f.problem;
  }
  return out;
}

}  // namespace mladmin::domain
