#include "domain/search_query.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mladmin::domain {
namespace {

std::string fts(std::string_view q) {
  auto parsed = SearchQuery::parse(q);
  EXPECT_FALSE(parsed.problem) << q << ": " << (parsed.problem ? parsed.problem->message : "");
  return parsed.query ? parsed.query->to_fts5() : std::string("<none>");
}

std::string problem(std::string_view q) {
  auto parsed = SearchQuery::parse(q);
  EXPECT_FALSE(parsed.query) << q << " was accepted as " << (parsed.query ? parsed.query->to_fts5() : "");
  return parsed.problem ? parsed.problem->message : std::string("<accepted>");
}

TEST(SearchQueryTest, WordsPhrasesAndPrefixesAreQuoted) {
  EXPECT_EQ(fts("heron"), "\"heron\"");
  EXPECT_EQ(fts("  heron  "), "\"heron\"");
  EXPECT_EQ(fts("\"grey heron\""), "\"grey heron\"");
  EXPECT_EQ(fts("jour*"), "\"jour\" *");
  EXPECT_EQ(fts("\"morning ru\"*"), "\"morning ru\" *");
  EXPECT_EQ(fts("self-care"), "\"self-care\"");  // the tokenizer splits it into a phrase
}

TEST(SearchQueryTest, AdjacentTermsMeanAnd) {
  EXPECT_EQ(fts("grey heron"), "(\"grey\" AND \"heron\")");
  EXPECT_EQ(fts("a b c"), "((\"a\" AND \"b\") AND \"c\")");
}

TEST(SearchQueryTest, OperatorPrecedenceIsNotThenAndThenOr) {
  EXPECT_EQ(fts("a OR b c"), "(\"a\" OR (\"b\" AND \"c\"))");
  EXPECT_EQ(fts("a AND b OR c"), "((\"a\" AND \"b\") OR \"c\")");
  EXPECT_EQ(fts("a b NOT c"), "(\"a\" AND (\"b\" NOT \"c\"))");
  EXPECT_EQ(fts("(a OR b) NOT c"), "((\"a\" OR \"b\") NOT \"c\")");
  EXPECT_EQ(fts("a (b OR c)"), "(\"a\" AND (\"b\" OR \"c\"))");
}

TEST(SearchQueryTest, LowerCaseOperatorsAreWords) {
  EXPECT_EQ(fts("cats and dogs"), "((\"cats\" AND \"and\") AND \"dogs\")");
  EXPECT_EQ(fts("not"), "\"not\"");
}

TEST(SearchQueryTest, BlankIsNoSearch) {
  auto parsed = SearchQuery::parse("   ");
  EXPECT_FALSE(parsed.query);
  EXPECT_FALSE(parsed.problem);
}

TEST(SearchQueryTest, CountsPhrases) {
  auto parsed = SearchQuery::parse("a \"b c\" OR d* NOT e");
  ASSERT_TRUE(parsed.query);
  EXPECT_EQ(parsed.query->phrase_count(), 4u);
}

TEST(SearchQueryTest, FtsAndSqlSyntaxInTheTextStaysLiteral) {
  // Column filters, NEAR, ^, and SQL all end up inside one quoted string each.
  EXPECT_EQ(fts("title:secret"), "\"title:secret\"");
  EXPECT_EQ(fts("NEAR(a b)"), "(\"NEAR\" AND (\"a\" AND \"b\"))");
  EXPECT_EQ(fts("^start"), "\"^start\"");
  EXPECT_EQ(fts("heron'; DELETE FROM documents"),
            "(((\"heron';\" AND \"DELETE\") AND \"FROM\") AND \"documents\")");
  EXPECT_EQ(problem("x'); DROP TABLE documents; --"),
            "';' has no letters or digits to search for (at position 3)");
}

TEST(SearchQueryTest, UnbalancedQuotesAreRefused) {
  EXPECT_EQ(problem("\"grey heron"), "unclosed quote (at position 0)");
  EXPECT_EQ(problem("heron \"grey"), "unclosed quote (at position 6)");
  EXPECT_EQ(problem("a \"\""), "the phrase has no letters or digits to search for (at position 2)");
}

TEST(SearchQueryTest, LoneOperatorsAreRefused) {
  EXPECT_EQ(problem("AND"), "AND needs a term on its left (at position 0)");
  EXPECT_EQ(problem("OR"), "OR needs a term on its left (at position 0)");
  EXPECT_EQ(problem("NOT heron"), "NOT needs a term on its left, as in 'goal NOT work' (at position 0)");
  EXPECT_EQ(problem("heron AND"), "AND needs a term on its right, not the end (at position 6)");
  EXPECT_EQ(problem("heron OR OR egret"), "OR needs a term on its right, not OR (at position 6)");
  EXPECT_EQ(problem("heron NOT"), "NOT needs a term on its right, not the end (at position 6)");
  EXPECT_EQ(problem("(heron OR)"), "OR needs a term on its right, not ')' (at position 7)");
}

TEST(SearchQueryTest, UnbalancedParenthesesAreRefused) {
  EXPECT_EQ(problem("(heron"), "'(' is never closed (at position 0)");
  EXPECT_EQ(problem("heron)"), "unmatched ')' (at position 5)");
  EXPECT_EQ(problem("()"), "empty parentheses (at position 0)");
  EXPECT_EQ(problem("((((((((((a))))))))))"), "parentheses are nested more than 8 deep (at position 8)");
}

TEST(SearchQueryTest, MisplacedStarsAreRefused) {
  EXPECT_EQ(problem("*"), "'*' must follow a word, as in 'jour*' (at position 0)");
  EXPECT_EQ(problem("he*ron"), "'*' can only end a word (at position 2)");
  EXPECT_EQ(problem("heron **"), "'*' must follow a word, as in 'jour*' (at position 6)");
}

TEST(SearchQueryTest, ControlCharactersAndBadEncodingAreRefused) {
  EXPECT_EQ(problem(std::string("heron\0x", 7)), "the search contains a control character (at position 5)");
  EXPECT_EQ(problem("heron\negret"), "the search contains a control character (at position 5)");
  EXPECT_EQ(problem("a\x7f"), "the search contains a control character (at position 1)");
  EXPECT_EQ(problem("caf\xc3"), "the search is not valid UTF-8 (at position 3)");
  EXPECT_EQ(problem("\xed\xa0\x80"), "the search is not valid UTF-8 (at position 0)");  // a surrogate
  EXPECT_EQ(fts("café"), "\"café\"");
}

TEST(SearchQueryTest, TermsWithoutLettersAreRefused) {
  EXPECT_EQ(problem("--"), "'--' has no letters or digits to search for (at position 0)");
}

TEST(SearchQueryTest, SizeLimits) {
  EXPECT_EQ(problem(std::string(10 * 1024, 'a')), "the search is 10240 bytes long; at most 1000 are allowed");
  std::string many;
  for (int i = 0; i < 33; ++i) {
    many += "w" + std::to_string(i) + " ";
  }
  EXPECT_EQ(problem(many),
            "the search has more than 32 terms (at position " + std::to_string(many.find("w32")) + ")");
  EXPECT_TRUE(SearchQuery::parse(std::string(1000, 'a')).query);
}

}  // namespace
}  // namespace mladmin::domain
