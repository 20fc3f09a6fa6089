import HubWire
import Testing

@Suite struct PrometheusTextTests {
    func text(_ build: (inout PrometheusText) -> Void) -> String {
        var text = PrometheusText()
        build(&text)
        return String(decoding: text.bytes, as: UTF8.self)
    }

    @Test func familyStartsWithHelpAndType() {
        let out = text {
            $0.family("spacehub_holds", .gauge, help: "Unpaid holds.")
            $0.sample("spacehub_holds", [], 3)
        }
        #expect(out == "# HELP spacehub_holds Unpaid holds.\n# TYPE spacehub_holds gauge\nspacehub_holds 3\n")
    }

    /// Exposition format: in label values `\`, `"` and line feed are escaped; in help text
    /// backslash and line feed.
    @Test func labelValuesAndHelpAreEscaped() {
        let out = text {
            $0.family("x_total", .counter, help: "a \\ b\nc \"quoted\"")
            $0.sample("x_total", [("route", "/a\\b\"c\nd"), ("code", "200")], 1)
        }
        #expect(out == """
            # HELP x_total a \\\\ b\\nc "quoted"
            # TYPE x_total counter
            x_total{route="/a\\\\b\\"c\\nd",code="200"} 1

            """)
    }

    @Test func histogramHasCumulativeBucketsInfSumAndCount() {
        let out = text {
            $0.family("d_seconds", .histogram, help: "Durations.")
            $0.histogram("d_seconds", [("route", "/r")], bounds: ["0.1", "1"], cumulativeCounts: [2, 5, 6], sum: 3.25)
        }
        #expect(out == """
            # HELP d_seconds Durations.
            # TYPE d_seconds histogram
            d_seconds_bucket{route="/r",le="0.1"} 2
            d_seconds_bucket{route="/r",le="1"} 5
            d_seconds_bucket{route="/r",le="+Inf"} 6
            d_seconds_sum{route="/r"} 3.25
            d_seconds_count{route="/r"} 6

            """)
    }

    @Test func histogramWithoutLabels() {
        let out = text { $0.histogram("g", bounds: ["1"], cumulativeCounts: [0, 0], sum: 0) }
        #expect(out == "g_bucket{le=\"1\"} 0\ng_bucket{le=\"+Inf\"} 0\ng_sum 0\ng_count 0\n")
    }

    @Test(arguments: [(0.0, "0"), (1.0, "1"), (0.25, "0.25"), (1e-05, "1e-05"), (123_456_789.5, "123456789.5"),
                      (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"), (Double.nan, "NaN")])
    func floatsAreWrittenAsParsersReadThem(value: Double, expected: String) {
        #expect(PrometheusText.format(value) == expected)
    }

    @Test func namesAreChecked() {
        #expect(PrometheusText.isValidName("spacehub_http_requests_total"))
        #expect(PrometheusText.isValidName("job:rate5m"))
        #expect(!PrometheusText.isValidName("job:rate5m", label: true))
        #expect(!PrometheusText.isValidName("2xx"))
        #expect(!PrometheusText.isValidName("a-b"))
        #expect(!PrometheusText.isValidName(""))
    }
}
