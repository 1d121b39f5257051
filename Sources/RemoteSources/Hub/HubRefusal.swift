/// One line that says why the Hub refused a request, from its status and its `X-Error-Code`:
/// a repository that does not exist or may not be read without a token (the Hub answers 401 to
/// both, so as not to tell private repositories apart), a gated one, a missing revision or file.
enum HubRefusal {
    /// Why `head` refused the request for `what` (the repository and revision, or a file in
    /// them), given the token sent, if any.
    static func explain(_ head: ResponseHead, what: HubLocation, token: HubToken?) -> String {
        let code = head.errorCode.map { " (\($0))" } ?? ""
        let answered = "the Hub answered \(head.statusText)\(code)"
        let login = "set HF_TOKEN (or log in with `hf auth login`)"
        switch (head.status, head.errorCode) {
        case (401, "GatedRepo"), (403, "GatedRepo"):
            let access = token.map { "\($0) has not been granted access yet" } ?? "no token was sent; \(login)"
            return "\(answered): the repository is gated: accept its conditions on its page, then use a token of that account; \(access)"
        case (_, "RevisionNotFound"):
            return "\(answered): the repository has no revision \(quoted(what.effectiveRevision))"
        case (_, "EntryNotFound"):
            return "\(answered): revision \(quoted(what.effectiveRevision)) has no file \(quoted(what.path))"
        case (401, _), (403, _):
            let reason = token.map { "or \($0) may not read it" } ?? "or it is private or gated and no token was sent; \(login)"
            return "\(answered): the repository \(what.repository.id) does not exist, \(reason)"
        case (404, _):
            return "\(answered): the repository \(what.repository.id) does not exist"
        default:
            return answered + (head.errorMessage.map { ": \($0)" } ?? "")
        }
    }
}
