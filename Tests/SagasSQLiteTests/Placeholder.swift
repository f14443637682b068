import Testing
@Test func placeholderSQLite() { #expect(1 == 1) }
