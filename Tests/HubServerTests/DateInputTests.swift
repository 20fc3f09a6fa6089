import HubCore
import HubHTTP
import Testing

@testable import HubServer

/// `LocalDate.required` and `.optional`: the one way the API reads a date, and its `bad_date`.
@Suite struct DateInputTests {
    private func refusal(_ body: () throws(APIError) -> LocalDate?) -> APIError? {
        do throws(APIError) {
            _ = try body()
            return nil
        } catch {
            return error
        }
    }

    @Test func aRequiredDateIsReadOrRefusedNamingItsField() throws {
        #expect(try LocalDate.required("2027-02-28", field: "date") == LocalDate(year: 2027, month: 2, day: 28))
        for text in [nil, "", "2027-02-30", "28/02/2027", "2027-2-28"] as [String?] {
            let error = try #require(refusal { () throws(APIError) in try LocalDate.required(text, field: "startDate") })
            #expect(error.status == 422)
            #expect(error.code == "bad_date")
            #expect(error.details["field"]?.stringValue == "startDate")
            #expect(error.message == "startDate must be YYYY-MM-DD")
        }
    }

    @Test func anOptionalDateIsNilWhenAbsentOrEmptyAndRefusedWhenWrong() throws {
        #expect(try LocalDate.optional(nil, field: "date") == nil)
        #expect(try LocalDate.optional("", field: "date") == nil)
        #expect(try LocalDate.optional("2027-01-01", field: "date") == LocalDate(year: 2027, month: 1, day: 1))
        #expect(refusal { () throws(APIError) in try LocalDate.optional("tomorrow", field: "date") }?.code == "bad_date")
    }
}
