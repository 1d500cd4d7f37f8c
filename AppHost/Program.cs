Console.WriteLine("CallLogs AppHost");
