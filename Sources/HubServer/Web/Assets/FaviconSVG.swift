extension WebAssets {
    /// The mark in the dashboard's corner, as the tab icon.
    static let faviconSVG = #"""
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0f1b26"/><path d="M7 7h18L7 25z" fill="#19b37d"/><path d="M25 7v18H7z" fill="#f5a524"/></svg>

"""#
}
