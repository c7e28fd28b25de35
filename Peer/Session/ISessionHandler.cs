namespace Mesh.Peer.Session;

/// <summary>What the <see cref="SessionLoop"/> asks of the session it runs: where an input goes, how it is handled, and
/// what to do when there is nothing more to take for now.</summary>
internal interface ISessionHandler
{
    /// <summary>Where a slow input goes, decided on the loop without waiting: a group's lane (in order with that group's
    /// other work), the whole session (<c>null</c> lane), or nowhere (<c>null</c> work: it was done at once).</summary>
    (string? Lane, SessionInput? Work) Route(SessionInput input);

    /// <summary>Handles one input on the loop.</summary>
    Task HandleAsync(SessionInput input, CancellationToken ct);

    /// <summary>Before an input is handled: what was typed leaves first unless the input cannot change how it is sent.</summary>
    void Before(SessionInput input);

    /// <summary>The loop has no more input at hand: what waits for a batch to end goes now (typed lines, the copy).</summary>
    void Idle();

    /// <summary>Tells the user an input failed: <paramref name="message"/> names what.</summary>
    void Failed(string message);
}
